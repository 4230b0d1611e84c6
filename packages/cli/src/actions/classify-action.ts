// `reviewtune classify`: a classification run's label and class probabilities for each text.
import { ConfigError, classifierOfRun, classify, readRunRecord, type ClassifierChoice } from "@reviewtune/core";
import { startEngine } from "../engine.js";

export interface ClassifyOptions {
  run?: string;
  model?: string;
  adapter?: string;
  allowPickle?: boolean;
  json?: boolean;
  maxLength: number;
  verbose?: boolean;
}

function choiceFrom(options: ClassifyOptions): ClassifierChoice {
  if (options.run) return classifierOfRun(readRunRecord(options.run), options.run);
  if (!options.model) throw new ConfigError("pass --run runs/<id> (a classification run), or --model with its model/ folder or base (+ --adapter)");
  return { model: { source: options.model, allow_pickle: options.allowPickle ?? false }, adapter: options.adapter };
}

export async function runClassify(texts: string[], options: ClassifyOptions): Promise<void> {
  const choice = choiceFrom(options);
  const engine = await startEngine({ verbose: options.verbose ?? false });
  try {
    const result = await classify(engine, choice, texts, { maxLength: options.maxLength });
    if (options.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    result.outputs.forEach((output, index) => {
      const probabilities = result.labels.map((label) => `${label} ${output.probabilities[label]!.toFixed(3)}`).join("  ");
      console.log(`${output.label}\t${probabilities}\t${texts[index]!.length > 60 ? `${texts[index]!.slice(0, 57)}...` : texts[index]}`);
    });
  } finally {
    await engine.shutdown();
  }
}
