import { t } from 'elysia';
import { transferStatuses } from '../../db/schema/locations.ts';
import { Int, PageQuery, Timestamp, Uuid } from '../../http/models.ts';

export const TransferStatus = t.UnionEnum(transferStatuses, { default: undefined, description: 'in_transit → received (every unit arrived) or cancelled' });

export const Transfer = t.Object({
  id: Uuid,
  fromLocationId: Uuid,
  toLocationId: Uuid,
  status: TransferStatus,
  items: t.Array(
    t.Object({
      productId: Uuid,
      quantity: Int({ minimum: 1, description: 'Units sent' }),
      received: Int({ minimum: 0, description: 'Units received so far (on hand at the destination)' }),
    }),
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Transfer = typeof Transfer.static;

const Lines = (description: string) =>
  t.Array(t.Object({ productId: Uuid, quantity: Int({ minimum: 1, maximum: 1_000_000_000 }) }), { minItems: 1, maxItems: 50, description });

export const TransferCreate = t.Object({
  fromLocationId: t.String({ format: 'uuid', description: 'The source: its on hand goes down now (its available must cover every item)' }),
  toLocationId: t.String({ format: 'uuid', description: 'The destination: its `incoming` goes up until the units are received' }),
  items: Lines('1 to 50 lines, each product at most once'),
});
export type TransferCreate = typeof TransferCreate.static;

export const TransferReceive = t.Object({ items: Lines('What arrived: 1 to 50 lines of products of the transfer, each at most once') });
export type TransferReceive = typeof TransferReceive.static;

export const TransferListQuery = t.Object({ ...PageQuery, status: t.Optional(TransferStatus) });
export type TransferListQuery = typeof TransferListQuery.static;
