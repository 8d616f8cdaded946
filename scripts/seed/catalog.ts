import { faker } from '@faker-js/faker';
import type { Sql } from '../../src/db/client.ts';
import { AppError } from '../../src/lib/errors.ts';
import type { CategoriesService } from '../../src/modules/categories/categories.service.ts';
import type { ProductsService } from '../../src/modules/products/products.service.ts';
import { Progress } from './progress.ts';

/** Units of a product kept at one of the demo locations (by code). */
export type Placement = { code: string; quantity: number };
export type DemoProduct = { sku: string; name: string; description: string; price: string; stock: Placement[]; departments: string[] };
export type CatalogPlan = { departments: string[]; products: DemoProduct[] };

/** Where the demo stock is kept: two warehouses and a store, in the order orders take from them when one would do. */
export const DEMO_LOCATIONS = [
  { code: 'CENTRAL', name: 'Central warehouse', kind: 'warehouse', priority: 10 },
  { code: 'NORTH', name: 'North warehouse', kind: 'warehouse', priority: 20 },
  { code: 'CITY-STORE', name: 'City store', kind: 'store', priority: 30 },
] as const;

/**
 * The first product is kept at two warehouses, neither with enough for the split demo order
 * (scripts/seed/orders.ts): it must take units from both.
 */
export const SPLIT_PRODUCT_INDEX = 0;
const SPLIT_STOCK: Placement[] = [
  { code: 'CENTRAL', quantity: 6 },
  { code: 'NORTH', quantity: 4 },
];

/**
 * Where a product's `total` units are kept: one, two or three of the demo locations in turn (which
 * ones rotate with the product), shared evenly, the remainder at the first.
 */
export function spread(index: number, total: number): Placement[] {
  if (index === SPLIT_PRODUCT_INDEX) return SPLIT_STOCK;
  if (total === 0) return [];
  const places = (index % 3) + 1;
  const first = Math.floor(index / 3) % DEMO_LOCATIONS.length;
  const share = Math.floor(total / places);
  return Array.from({ length: places }, (_, k) => ({
    code: DEMO_LOCATIONS[(first + k) % DEMO_LOCATIONS.length]!.code,
    quantity: share + (k === 0 ? total - share * places : 0),
  }));
}

/**
 * The demo catalog for a seed: the same seed and sizes always give the same catalog, and a larger
 * `products` gives the same first products plus more, so a second run adds nothing twice.
 * Every tenth product is sold out; the others are spread over the demo locations (`spread`).
 */
export function planCatalog(seed: number, productCount: number, categoryCount: number): CatalogPlan {
  faker.seed(seed);
  const departments = faker.helpers.uniqueArray(() => faker.commerce.department(), categoryCount);
  const skus = new Set<string>();
  const products: DemoProduct[] = [];
  for (let i = 0; i < productCount; i++) {
    const department = departments[i % departments.length]!;
    let sku: string;
    do sku = `${department.slice(0, 3).toUpperCase()}-${faker.string.alphanumeric({ length: 6, casing: 'upper' })}`;
    while (skus.has(sku));
    skus.add(sku);
    const second = faker.datatype.boolean({ probability: 0.3 }) ? faker.helpers.arrayElement(departments) : department;
    products.push({
      sku,
      name: faker.commerce.productName(),
      description: faker.commerce.productDescription(),
      price: faker.commerce.price({ min: 2, max: 400 }),
      stock: spread(i, i % 10 === 9 ? 0 : faker.number.int({ min: 20, max: 500 })),
      departments: [...new Set([department, second])],
    });
  }
  return { departments, products };
}

export type CatalogOutcome = { categoriesCreated: number; productsCreated: number; productsKept: number };

/** Creates what the plan has and the database lacks (categories by name, products by SKU, both case-insensitive). */
export async function ensureCatalog(
  sql: Sql,
  services: { categories: CategoriesService; products: ProductsService },
  plan: CatalogPlan,
): Promise<CatalogOutcome> {
  const categoryIds = new Map(
    (await sql<{ id: string; name: string }[]>`SELECT id, lower(name) AS name FROM categories`).map((row) => [row.name, row.id]),
  );
  let categoriesCreated = 0;
  for (const name of plan.departments) {
    if (categoryIds.has(name.toLowerCase())) continue;
    categoryIds.set(name.toLowerCase(), (await services.categories.create(name)).id);
    categoriesCreated++;
  }

  const existing = new Set(
    (await sql<{ sku: string }[]>`SELECT lower(sku) AS sku FROM products WHERE lower(sku) = ANY(${plan.products.map((p) => p.sku.toLowerCase())})`).map(
      (row) => row.sku,
    ),
  );
  const missing = plan.products.filter((p) => !existing.has(p.sku.toLowerCase()));
  const progress = new Progress('products', missing.length);
  let productsCreated = 0;
  for (let start = 0; start < missing.length; start += 8) {
    await Promise.all(
      missing.slice(start, start + 8).map(async (product) => {
        try {
          await services.products.create({
            sku: product.sku,
            name: product.name,
            description: product.description,
            price: product.price,
            // Stock goes to the demo locations afterwards (./locations.ts), none to the default one.
            initialStock: 0,
            categoryIds: product.departments.map((d) => categoryIds.get(d.toLowerCase())!),
          });
          productsCreated++;
        } catch (error) {
          // Someone else created this SKU meanwhile (another seed): it is there, which is all we want.
          if (!(error instanceof AppError && error.code === 'conflict')) throw error;
        }
        progress.tick();
      }),
    );
  }
  progress.finish(`${productsCreated} created, ${plan.products.length - missing.length} already there`);
  return { categoriesCreated, productsCreated, productsKept: plan.products.length - productsCreated };
}

export type Stocked = { id: string; available: number };

/** The plan's products as they are now: what each has available for new orders. */
export function demoStock(sql: Sql, plan: CatalogPlan) {
  return sql<Stocked[]>`
    SELECT p.id, l.on_hand - l.reserved AS available
    FROM products p JOIN inventory_levels l ON l.product_id = p.id
    WHERE lower(p.sku) = ANY(${plan.products.map((p) => p.sku.toLowerCase())}) AND p.archived_at IS NULL
    ORDER BY p.sku`;
}

/** The split product's id, when the catalog has it. */
export async function splitProductId(sql: Sql, plan: CatalogPlan): Promise<string | undefined> {
  const sku = plan.products[SPLIT_PRODUCT_INDEX]?.sku;
  if (sku === undefined) return undefined;
  const [row] = await sql<{ id: string }[]>`SELECT id FROM products WHERE lower(sku) = lower(${sku}) AND archived_at IS NULL`;
  return row?.id;
}
