// Loading a resource from the studio API, with its error, and a way to load it again.
import { useEffect, useState } from "preact/hooks";
import { get, type StudioRequestError } from "./api.js";

export function useLoad<T>(path: string | null): { data: T | null; error: StudioRequestError | null; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: StudioRequestError | null }>({ data: null, error: null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    setState((previous) => ({ data: previous.data, error: null }));
    get<T>(path).then(
      (data) => live && setState({ data, error: null }),
      (error: StudioRequestError) => live && setState({ data: null, error }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  return { ...state, reload: () => setTick((value) => value + 1) };
}
