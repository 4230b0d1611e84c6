import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inventedAttributes, namedAttributes, unsupportedAttributes } from "./attributes.js";

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

  it("an attribute is invented when neither the title nor the reference gives it; the two are read apart", () => {
    const title = "Kestrel Women Navy Blue Solid Wool Jacket";
    const reference = "Navy blue solid jacket, has a spread collar, long sleeves, two pockets, polyester lining";
    // polyester: not in the title, in the reference (a true detail the title leaves out); red: in neither.
    assert.deepEqual(unsupportedAttributes(title, "A navy jacket with a polyester lining."), ["material:polyester"]);
    assert.deepEqual(inventedAttributes(title, reference, "A navy jacket with a polyester lining."), []);
    assert.deepEqual(inventedAttributes(title, reference, "A red jacket with a silk lining.").sort(), ["colour:red", "material:silk"]);
    // "Navy" ending the title and "Blue" opening the reference are not one phrase: a navy blue answer is a shade neither gave.
    assert.deepEqual(inventedAttributes("Kestrel Women Jacket in Navy", "Blue jacket with two pockets", "A navy blue jacket."), ["colour:navy blue"]);
  });
});
