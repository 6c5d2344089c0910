import type { Inventory } from "../inventory.js";
import { formatPrice } from "@lib/format";

export function summarize(inventory: Inventory): string {
  return `total: ${formatPrice(inventory.total(), "EUR")}`;
}
