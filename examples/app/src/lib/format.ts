export type Currency = "EUR" | "USD";

const symbols: Record<Currency, string> = { EUR: "€", USD: "$" };

export function formatPrice(amount: number, currency: Currency): string {
  return `${symbols[currency]}${amount.toFixed(2)}`;
}
