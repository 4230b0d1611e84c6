// DNS rebinding and cross-site requests. A web page on evil.example can make its own name resolve to
// 127.0.0.1 and then call this server "same-origin" from the browser's point of view; any page can
// also POST to http://127.0.0.1:PORT directly. Both carry headers the page cannot forge: the first a
// Host naming evil.example, the second an Origin naming the page. So, as Jupyter and Vite's dev server
// do, every request must name this server in Host (a loopback name, or the IP address the connection
// arrived at), and an Origin, when sent, must be this server's own (or one allowed by the operator).
import type { FastifyReply, FastifyRequest } from "fastify";

export interface HostPolicy {
  /** Extra names the server is reached by (a reverse proxy's, a LAN name): `--allow-host`. */
  allowedHosts?: string[] | undefined;
  /** Extra origins whose pages may call the server (`--allow-origin`, and `--cors-origin`'s). */
  allowedOrigins?: string[] | undefined;
  /**
   * How a refused origin is let in, for the 403's message: `--allow-origin` on the studio (its pages
   * are its own), `--cors-origin` on the API server, where a page of another origin also needs CORS
   * headers to read an answer (`--allow-origin` alone let its requests through, but the browser
   * refused them: no preflight route, no Access-Control-Allow-Origin).
   */
  letOriginIn?: ((origin: string) => string) | undefined;
}

const allowOriginFlag = (origin: string) => `start the server with --allow-origin ${origin} to let that page call it`;

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/** The host part of a Host header ("[::1]:8000" -> "[::1]", "Example.com:80" -> "example.com"). */
export function hostnameOf(host: string): string {
  const lower = host.trim().toLowerCase();
  if (lower.startsWith("[")) return lower.slice(0, lower.indexOf("]") + 1);
  const colon = lower.lastIndexOf(":");
  return colon >= 0 && lower.indexOf(":") === colon ? lower.slice(0, colon) : lower;
}

/** The address a connection arrived at, as a Host header names it ("::ffff:10.0.0.2" -> "10.0.0.2", "::1" -> "[::1]"). */
function localAddressName(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const plain = address.replace(/^::ffff:(?=\d+\.)/, "");
  return plain.includes(":") ? `[${plain.toLowerCase()}]` : plain;
}

function hostAllowed(hostname: string, request: FastifyRequest, policy: HostPolicy): boolean {
  if (LOOPBACK_NAMES.has(hostname) || hostname.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(hostname)) return true;
  // The bound address itself (a server on 0.0.0.0 reached as http://192.168.1.5:8000): no DNS involved.
  if (hostname === localAddressName(request.socket.localAddress)) return true;
  return (policy.allowedHosts ?? []).some((allowed) => hostnameOf(allowed) === hostname);
}

const normalizeOrigin = (origin: string) => origin.trim().toLowerCase().replace(/\/+$/, "");

/** Why the request is refused, or null when its Host and Origin name this server. */
export function foreignRequest(request: FastifyRequest, policy: HostPolicy): { message: string; code: string } | null {
  const host = request.headers.host;
  // HTTP/1.0 clients may leave Host out; browsers never do, so a missing Host is no rebinding.
  if (host !== undefined && !hostAllowed(hostnameOf(host), request, policy)) {
    return {
      code: "host_not_allowed",
      message: `Host "${host}" is not a name of this server (refused: a web page could reach it through DNS rebinding); use http://127.0.0.1 or http://localhost, or start the server with --allow-host ${hostnameOf(host)} if that name is really yours`,
    };
  }
  const origin = request.headers.origin;
  if (origin === undefined) return null; // not a browser's cross-origin call (curl, the openai client, same-origin GETs)
  const own = host !== undefined && normalizeOrigin(origin) === normalizeOrigin(`http://${host}`);
  if (own || (policy.allowedOrigins ?? []).some((allowed) => normalizeOrigin(allowed) === normalizeOrigin(origin))) return null;
  return {
    code: "origin_not_allowed",
    message: `Origin "${origin}" is not this server's (refused: another web page must not drive it); ${(policy.letOriginIn ?? allowOriginFlag)(origin)}`,
  };
}

/** An onRequest hook: 403 for a foreign Host or Origin, before authentication or any route runs. */
export function hostCheckHook(policy: HostPolicy) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const refused = foreignRequest(request, policy);
    if (!refused) return;
    // Sent here rather than thrown: the studio's routes have an error handler of their own.
    return reply.code(403).send({ error: { message: refused.message, type: "invalid_request_error", param: null, code: refused.code } });
  };
}
