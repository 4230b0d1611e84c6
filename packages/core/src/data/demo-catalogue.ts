// A deterministic synthetic shop catalogue, written from scratch by this project, for recipes R4
// (product descriptions from titles) and R2 (short answers to product questions) where a test or a
// fresh clone cannot use real data (../shared/data is for development only).
//
// Each product has a brand, a gender, a colour, a material, a fit and a type; its title names them
// ("Northwind Men Navy Blue Cotton Slim Fit Shirt"). Its description says what the title supports
// (the colour, the material, the fit, the type) in one of several phrasings, plus details of the
// type (a collar, pockets) that a writer adds: a model can learn the style and the facts, and an
// evaluation can check that a description names no colour, material or gender the title lacks.
// Its questions are answerable from the question alone, by rules a model can learn: what it is
// made of and who it is for (from the title), whether it can be machine washed and whether it
// suits winter (from the material), with the yes/no ones marked so evaluations slice them.

export const DEMO_COLOURS = ["black", "white", "navy blue", "grey", "olive green", "maroon", "beige", "mustard yellow", "teal", "pink"] as const;
export const DEMO_MATERIALS = ["cotton", "linen", "wool", "polyester", "silk", "denim"] as const;
export const DEMO_GENDERS = ["Men", "Women", "Unisex", "Boys", "Girls"] as const;
export const DEMO_PRODUCT_TYPES = ["shirt", "t-shirt", "dress", "jacket", "trousers", "kurta", "sweatshirt", "shorts"] as const;
const BRANDS = ["Northwind", "Kestrel", "Urbanloom", "Mapleway", "Saltmarsh", "Ridgeback", "Lumen & Co", "Fernhill"];
const FITS = ["slim fit", "regular fit", "relaxed fit"] as const;

type Material = (typeof DEMO_MATERIALS)[number];
type ProductType = (typeof DEMO_PRODUCT_TYPES)[number];

/** Care and season by material: the rules the demo questions teach. */
const MATERIAL_FACTS: Record<Material, { machineWash: boolean; care: string; winter: boolean; feel: string }> = {
  cotton: { machineWash: true, care: "machine wash cold", winter: false, feel: "soft, breathable" },
  linen: { machineWash: true, care: "machine wash gentle, line dry", winter: false, feel: "light, airy" },
  wool: { machineWash: false, care: "hand wash or dry clean only", winter: true, feel: "warm, textured" },
  polyester: { machineWash: true, care: "machine wash warm", winter: false, feel: "smooth, quick-drying" },
  silk: { machineWash: false, care: "dry clean only", winter: false, feel: "smooth, lustrous" },
  denim: { machineWash: true, care: "machine wash cold, inside out", winter: true, feel: "sturdy, structured" },
};

/** What a writer adds for each type: details a title does not state. */
const TYPE_DETAILS: Record<ProductType, string[]> = {
  shirt: ["a spread collar", "long sleeves", "a button placket", "a curved hem", "a patch pocket"],
  "t-shirt": ["a round neck", "short sleeves", "a ribbed neckband", "a straight hem"],
  dress: ["a V-neck", "short flutter sleeves", "a tie-up waist", "a flared hem", "a concealed zip"],
  jacket: ["a stand collar", "a full zip", "two zip pockets", "ribbed cuffs", "a quilted lining"],
  trousers: ["a button closure", "belt loops", "two slant pockets", "two back pockets", "a tapered hem"],
  kurta: ["a mandarin collar", "three-quarter sleeves", "side slits", "a straight hem"],
  sweatshirt: ["a hood", "a kangaroo pocket", "ribbed cuffs", "long sleeves"],
  shorts: ["an elasticated waist", "a drawstring", "two side pockets", "a mid-thigh length"],
};

export interface DemoProduct {
  id: string;
  brand: string;
  gender: (typeof DEMO_GENDERS)[number];
  colour: (typeof DEMO_COLOURS)[number];
  material: Material;
  fit: (typeof FITS)[number];
  type: ProductType;
  title: string;
  description: string;
}

export interface DemoQuestion {
  /** The product the question is about (its id, as a product id column). */
  asin: string;
  question: string;
  answer: string;
  questionType: "yes/no" | "open-ended";
  /** Y or N for yes/no questions, as McAuley's Amazon QA marks them. */
  answerType?: "Y" | "N";
}

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const capital = (text: string) => text.replace(/(^|[\s-])([a-z])/g, (_, before: string, letter: string) => `${before}${letter.toUpperCase()}`);

function describe(product: Omit<DemoProduct, "description" | "title" | "id">, pick: <T>(items: readonly T[]) => T): string {
  const { colour, material, fit, type } = product;
  const details = TYPE_DETAILS[type];
  const first = pick(details);
  const second = pick(details.filter((detail) => detail !== first));
  const facts = MATERIAL_FACTS[material];
  const openings = [
    `${sentence(colour)} ${material} ${type} in a ${fit}, with ${first} and ${second}.`,
    `A ${fit} ${type} in ${colour} ${material}, made with ${first} and ${second}.`,
    `This ${colour} ${type} is cut in a ${fit} from ${facts.feel} ${material} and has ${first} and ${second}.`,
  ];
  const endings = [`Care: ${facts.care}.`, `The ${material} feels ${facts.feel}.`, `${sentence(facts.care)}.`];
  return `${pick(openings)} ${pick(endings)}`;
}

/** `count` distinct products (titles never repeat), the same for the same seed. */
export function makeDemoProducts(count: number, seed: number): DemoProduct[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const products: DemoProduct[] = [];
  const titles = new Set<string>();
  for (let attempt = 0; products.length < count; attempt++) {
    if (attempt > count * 50) throw new RangeError(`cannot make ${count} distinct demo products`);
    const attributes = { brand: pick(BRANDS), gender: pick(DEMO_GENDERS), colour: pick(DEMO_COLOURS), material: pick(DEMO_MATERIALS), fit: pick(FITS), type: pick(DEMO_PRODUCT_TYPES) };
    const title = `${attributes.brand} ${attributes.gender} ${capital(attributes.colour)} ${capital(attributes.material)} ${capital(attributes.fit)} ${capital(attributes.type)}`;
    if (titles.has(title)) continue;
    titles.add(title);
    products.push({ id: `DEMO${String(products.length + 1).padStart(5, "0")}`, ...attributes, title, description: describe(attributes, pick) });
  }
  return products;
}

/** Two questions a product, answerable from the question's own words (see the header). */
export function demoQuestions(products: readonly DemoProduct[], seed: number): DemoQuestion[] {
  const next = random(seed ^ 0x5eed);
  const questions: DemoQuestion[] = [];
  for (const product of products) {
    const name = `${product.brand} ${product.colour} ${product.material} ${product.type}`;
    const facts = MATERIAL_FACTS[product.material];
    const asks: DemoQuestion[] = [
      {
        asin: product.id,
        question: `Can the ${name} go in the washing machine?`,
        answer: facts.machineWash ? `Yes, ${facts.care}.` : `No, ${facts.care}.`,
        questionType: "yes/no",
        answerType: facts.machineWash ? "Y" : "N",
      },
      {
        asin: product.id,
        question: `Is the ${name} warm enough for winter?`,
        answer: facts.winter ? `Yes, the ${product.material} keeps you warm.` : `No, ${product.material} is better for mild weather.`,
        questionType: "yes/no",
        answerType: facts.winter ? "Y" : "N",
      },
      { asin: product.id, question: `What is the ${product.brand} ${product.colour} ${product.type} made of?`, answer: `${sentence(product.material)}.`, questionType: "open-ended" },
      { asin: product.id, question: `Who is the ${product.title} for?`, answer: `${product.gender}.`, questionType: "open-ended" },
    ];
    const first = Math.floor(next() * asks.length);
    questions.push(asks[first]!, asks[(first + 1 + Math.floor(next() * (asks.length - 1))) % asks.length]!);
  }
  return questions;
}
