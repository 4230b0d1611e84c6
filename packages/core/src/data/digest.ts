// SHA-256 digests read as 32-bit words: the data build hashes every review eight times (its
// phrasings, its split's tie-break, its duplicate check). crypto.hash with a "binary" (latin1) string as its
// output, one character a byte: with a Buffer as the output a call took 1.3 us here, with the
// string 0.3 us (the Buffer's allocation was the rest), the same digest.
import { hash } from "node:crypto";

/** The SHA-256 digest of `text` (as UTF-8): 32 characters, each one byte's value (0-255). */
export function sha256Bytes(text: string): string {
  return hash("sha256", text, "binary"); // "binary" is latin1: a character a byte
}

/** The unsigned 32-bit word at byte `offset` of a digest from sha256Bytes, big-endian: Buffer.readUInt32BE's. */
export function wordBE(bytes: string, offset = 0): number {
  return ((bytes.charCodeAt(offset) << 24) | (bytes.charCodeAt(offset + 1) << 16) | (bytes.charCodeAt(offset + 2) << 8) | bytes.charCodeAt(offset + 3)) >>> 0;
}

/** The unsigned 32-bit word at byte `offset`, little-endian: Buffer.readUInt32LE's. */
export function wordLE(bytes: string, offset = 0): number {
  return (bytes.charCodeAt(offset) | (bytes.charCodeAt(offset + 1) << 8) | (bytes.charCodeAt(offset + 2) << 16) | (bytes.charCodeAt(offset + 3) << 24)) >>> 0;
}
