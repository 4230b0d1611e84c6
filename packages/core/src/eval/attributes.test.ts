import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { namedAttributes, unsupportedAttributes } from "./attributes.js";

describe("description attributes", () => {
  it("names colours, materials, genders and product types by whole words, the longest phrase first", () => {
    assert.deepEqual([...namedAttributes("Men's Navy Blue Slim Fit Cotton T-shirts")].sort(), ["colour:navy blue", "gender:men", "material:cotton", "product_type:t-shirt"]);
    assert.deepEqual([...namedAttributes("A shirt for boys, in linen")].sort(), ["gender:boys", "material:linen", "product_type:shirt"]);
    assert.deepEqual([...namedAttributes("Redmond blackout curtains")], [], "no attribute inside another word");
  });

  it("an answer's attribute the title does not give is unsupported; a shorter form of the title's is not", () => {
    const title = "Kestrel Women Navy Blue Solid Wool Jacket";
    assert.deepEqual(unsupportedAttributes(title, "A navy wool jacket for women, warm and smart."), []);
    assert.deepEqual(unsupportedAttributes(title, "A red silk jacket for men.").sort(), ["colour:red", "gender:men", "material:silk"]);
    assert.deepEqual(unsupportedAttributes("Kestrel Women Blue Jacket", "A navy blue jacket."), ["colour:navy blue"], "a shade the title did not give");
    assert.deepEqual(unsupportedAttributes(title, "Pair it with jeans."), ["product_type:jeans"]);
  });
});
