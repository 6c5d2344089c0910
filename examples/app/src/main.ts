// The example app: a little inventory report that exercises what packem resolves.
import { formatPrice, type Currency } from "@lib/format";
import { Inventory } from "./inventory.js";
import config from "#config" with { type: "json" };
import legacy from "./legacy.cjs";

const currency: Currency = config.currency as Currency;
const inventory = new Inventory(config.items);

console.log(`${config.title} (${legacy.version})`);
for (const line of inventory.lines()) {
  console.log(`${line.name.padEnd(10)} ${formatPrice(line.total, currency)}`);
}

// Loaded on demand: its own chunk once packem splits code.
const { summarize } = await import("./lazy/summary.js");
console.log(summarize(inventory));
