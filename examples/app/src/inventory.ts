import { sum } from "@lib/math";

export interface Item {
  name: string;
  price: number;
  quantity: number;
}

export class Inventory {
  constructor(private readonly items: Item[]) {}

  lines(): { name: string; total: number }[] {
    return this.items.map((item) => ({ name: item.name, total: item.price * item.quantity }));
  }

  total(): number {
    return sum(this.lines().map((line) => line.total));
  }
}
