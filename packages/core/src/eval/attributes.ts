// Attributes a product description may state (recipe R4): colour, material, gender, product type.
// eval reports the share of answers naming one their title does not give (unsupported: not always
// wrong, a catalogue's own descriptions do it) and the share naming one that neither the title nor
// the reference description gives (invented: made up as far as the data can tell). Matching is by whole words,
// case-insensitive, longest phrase first (so "t-shirt" is not also a "shirt", "navy blue" not also
// "blue"), plural and possessive forms read as the word.

export const ATTRIBUTE_LEXICON = {
  colour: [
    "black", "white", "off-white", "cream", "ivory", "grey", "gray", "charcoal", "silver", "gold", "golden", "blue", "navy", "navy blue", "sky blue", "royal blue", "teal",
    "turquoise", "green", "olive", "olive green", "sea green", "mint", "lime", "red", "maroon", "burgundy", "wine", "rust", "orange", "peach", "coral", "pink", "fuchsia",
    "magenta", "purple", "lavender", "violet", "mauve", "yellow", "mustard", "mustard yellow", "beige", "khaki", "brown", "tan", "camel", "copper", "bronze", "multicoloured", "multicolored",
  ],
  material: [
    "cotton", "organic cotton", "linen", "wool", "woollen", "merino", "cashmere", "polyester", "silk", "satin", "denim", "leather", "faux leather", "suede", "rayon", "viscose", "modal",
    "nylon", "spandex", "elastane", "lycra", "chiffon", "georgette", "crepe", "velvet", "fleece", "jersey", "canvas", "jute", "acrylic", "corduroy", "chambray", "khadi", "tweed",
  ],
  gender: ["men", "man", "male", "women", "woman", "female", "boys", "boy", "girls", "girl", "unisex", "kids", "ladies", "gents"],
  product_type: [
    "shirt", "t-shirt", "tshirt", "tee", "polo", "top", "tunic", "blouse", "dress", "gown", "jumpsuit", "jacket", "blazer", "coat", "sweater", "cardigan", "sweatshirt", "hoodie",
    "trousers", "pants", "jeans", "chinos", "joggers", "track pants", "leggings", "shorts", "skirt", "kurta", "kurti", "saree", "sari", "lehenga", "dupatta", "salwar", "churidar",
    "shoes", "sneakers", "sandals", "heels", "flats", "boots", "slippers", "flip flops", "loafers", "socks", "watch", "bag", "handbag", "backpack", "wallet", "belt", "cap", "hat",
    "scarf", "stole", "sunglasses", "earrings", "necklace", "bracelet", "ring", "bra", "briefs", "boxers", "pyjamas", "nightdress", "shapewear", "vest", "swimsuit",
  ],
} as const;
export type AttributeKind = keyof typeof ATTRIBUTE_LEXICON;

/** Words of a text as the lexicon reads them: lower case, possessives and plurals reduced, hyphens kept inside words. */
function words(text: string): string[] {
  return (text.toLowerCase().match(/[a-z]+(?:-[a-z]+)*/g) ?? []).map((word) => word.replace(/'s$/, ""));
}

const singular = (word: string) => (word.length > 4 && word.endsWith("es") && /(ss|sh|ch|x)es$/.test(word) ? word.slice(0, -2) : word.length > 3 && word.endsWith("s") && !word.endsWith("ss") ? word.slice(0, -1) : word);

/** Lexicon phrases, longest first, as word lists in singular form. */
const PHRASES: ReadonlyArray<{ kind: AttributeKind; phrase: string; tokens: string[] }> = Object.entries(ATTRIBUTE_LEXICON)
  .flatMap(([kind, phrases]) => phrases.map((phrase) => ({ kind: kind as AttributeKind, phrase, tokens: words(phrase).map(singular) })))
  .sort((a, b) => b.tokens.length - a.tokens.length || b.phrase.length - a.phrase.length);

/** The attributes a text names, as "kind:phrase" (longest phrases first, each word used once). */
export function namedAttributes(text: string): Set<string> {
  const tokens: Array<string | undefined> = words(text).map(singular);
  const found = new Set<string>();
  for (const { kind, phrase, tokens: wanted } of PHRASES) {
    for (let start = 0; start + wanted.length <= tokens.length; start++) {
      if (wanted.every((token, offset) => tokens[start + offset] === token || (wanted.length === 1 && singular(tokens[start + offset] ?? "") === token))) {
        found.add(`${kind}:${phrase}`);
        for (let offset = 0; offset < wanted.length; offset++) tokens[start + offset] = undefined;
      }
    }
  }
  return found;
}

/**
 * Whether `attribute` ("kind:phrase") is supported by one of `given`: the same phrase, or a longer
 * one of the same kind containing it ("navy" by "navy blue"); not by a shorter one it contains
 * ("navy blue" by "blue" is not: that would be a made-up shade).
 */
function supported(attribute: string, given: Iterable<string>): boolean {
  const [kind, phrase] = attribute.split(":") as [string, string];
  for (const other of given) {
    const [otherKind, otherPhrase] = other.split(":") as [string, string];
    if (otherKind === kind && (otherPhrase === phrase || ` ${otherPhrase} `.includes(` ${phrase} `))) return true;
  }
  return false;
}

/** The attributes an answer names that the title does not support (see `supported`). */
export function unsupportedAttributes(title: string, answer: string): string[] {
  const given = namedAttributes(title);
  return [...namedAttributes(answer)].filter((attribute) => !supported(attribute, given));
}

/**
 * The attributes an answer names that neither the title nor the reference description supports:
 * made up as far as the data can tell. "Unsupported" alone overstates it: a catalogue's own
 * descriptions name what the title leaves out (on Myntra's test split, 37.3% of the 1,074 references name a
 * colour, material, gender or product type their title does not give), and an answer that says the
 * same is right. Title and reference are read apart, so no phrase is formed across the two.
 */
export function inventedAttributes(title: string, reference: string, answer: string): string[] {
  const given = [...namedAttributes(title), ...namedAttributes(reference)];
  return [...namedAttributes(answer)].filter((attribute) => !supported(attribute, given));
}
