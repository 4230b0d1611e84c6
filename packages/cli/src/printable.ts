// User data printed to a terminal (a CSV header in a hint, a review, a file's bytes quoted by a
// parser's error) must not drive it: an ESC[...m or ESC]0;...BEL in a header would recolour the
// terminal or retitle its window. Such characters are shown as escapes instead.

/** C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides that reorder what is shown. */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** `text` with control characters written as \xNN / \uNNNN, so it prints as it is; newlines kept. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (character) => {
    const code = character.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
