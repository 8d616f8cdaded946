import { t } from 'elysia';
import { Int, Money, PageQuery, Timestamp, Uuid } from '../../http/models.ts';

export const CategoryRef = t.Object({ id: Uuid, name: t.String() });

export const InventorySummary = t.Object({
  onHand: Int({ minimum: 0 }),
  reserved: Int({ minimum: 0 }),
  held: Int({ minimum: 0, description: 'The part of `reserved` that holds (cart reservations) keep' }),
  available: Int({ minimum: 0 }),
});

export const Product = t.Object({
  id: Uuid,
  sku: t.String(),
  name: t.String(),
  description: t.String(),
  price: Money,
  archived: t.Boolean(),
  categories: t.Array(CategoryRef),
  inventory: InventorySummary,
  lowStockThreshold: t.Union([Int({ minimum: 0 }), t.Null()], { description: '`inventory.low` fires when `available` falls to this or below; null: no alert' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Product = typeof Product.static;

const Sku = t.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: 'Letters, digits, ".", "_" and "-"; unique regardless of case',
  examples: ['TSHIRT-RED-M'],
});
const Name = t.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const Description = t.String({ maxLength: 5000 });
const LowStockThreshold = t.Union([Int({ minimum: 0, maximum: 1_000_000_000 }), t.Null()], {
  description: 'Alert (`inventory.low`) when `available` falls to this or below; null: no alert',
});

export const ProductCreate = t.Object({
  sku: Sku,
  name: Name,
  description: t.Optional(Description),
  price: Money,
  categoryIds: t.Optional(t.Array(Uuid, { maxItems: 50, uniqueItems: true })),
  initialStock: t.Optional(Int({ minimum: 0, maximum: 1_000_000_000 })),
  lowStockThreshold: t.Optional(LowStockThreshold),
});
export type ProductCreate = typeof ProductCreate.static;

export const ProductPatch = t.Object(
  { name: t.Optional(Name), description: t.Optional(Description), price: t.Optional(Money), lowStockThreshold: t.Optional(LowStockThreshold) },
  { minProperties: 1, description: 'At least one of name, description, price, lowStockThreshold' },
);
export type ProductPatch = typeof ProductPatch.static;

export const ProductListQuery = t.Object({
  ...PageQuery,
  q: t.Optional(t.String({ minLength: 1, maxLength: 200, description: 'Part of the name or SKU, any case' })),
  categoryId: t.Optional(Uuid),
  includeArchived: t.Optional(t.Boolean({ default: false, description: 'Also list archived products' })),
  lowStock: t.Optional(t.Boolean({ description: 'Only products whose `available` is at or below their `lowStockThreshold`' })),
});
export type ProductListQuery = typeof ProductListQuery.static;

export const ProductCategoriesBody = t.Object({ categoryIds: t.Array(Uuid, { maxItems: 50, uniqueItems: true }) });
