import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEMO_COLOURS, DEMO_GENDERS, DEMO_MATERIALS, DEMO_PRODUCT_TYPES, demoQuestions, makeDemoProducts } from "./demo-catalogue.js";

const mentions = (text: string, word: string) => new RegExp(`\\b${word}\\b`, "i").test(text);

describe("demo catalogue", () => {
  const products = makeDemoProducts(300, 42);

  it("is the same for the same seed, with distinct titles", () => {
    assert.deepEqual(makeDemoProducts(300, 42), products);
    assert.notDeepEqual(makeDemoProducts(300, 43), products);
    assert.equal(new Set(products.map((product) => product.title)).size, 300);
  });

  it("describes what the title supports and names no other colour, material or type", () => {
    for (const product of products) {
      const { description, title } = product;
      for (const word of [product.colour, product.material, product.type]) assert.ok(mentions(description, word), `${title}: ${description} lacks ${word}`);
      for (const other of [...DEMO_COLOURS, ...DEMO_MATERIALS, ...DEMO_PRODUCT_TYPES]) {
        if (mentions(description, other)) assert.ok(mentions(title, other) || (other === "shirt" && mentions(title, "t-shirt")), `${title}: ${description} names ${other}`);
      }
      for (const gender of DEMO_GENDERS) assert.ok(!mentions(description, gender), `${description} names a gender`);
      assert.match(description, /^[A-Z].*\.$/);
    }
  });

  it("asks two questions a product, answered by rules the question's words decide", () => {
    const questions = demoQuestions(products, 42);
    assert.equal(questions.length, 600);
    for (const question of questions) {
      const product = products.find((candidate) => candidate.id === question.asin)!;
      if (question.questionType === "yes/no") {
        assert.match(question.answer, question.answerType === "Y" ? /^Yes, / : /^No, /);
        if (/washing machine/.test(question.question)) assert.equal(question.answerType, ["wool", "silk"].includes(product.material) ? "N" : "Y");
        if (/winter/.test(question.question)) assert.equal(question.answerType, ["wool", "denim"].includes(product.material) ? "Y" : "N");
      } else {
        assert.equal(question.answerType, undefined);
        assert.ok(question.answer === `${product.gender}.` || question.answer.toLowerCase() === `${product.material}.`, question.answer);
      }
    }
    const first = questions.filter((question) => question.asin === products[0]!.id);
    assert.equal(first.length, 2);
    assert.notEqual(first[0]!.question, first[1]!.question);
  });
});
