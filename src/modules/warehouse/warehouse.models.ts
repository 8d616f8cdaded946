import { t } from 'elysia';
import { Int, PageQuery, Timestamp, Uuid } from '../../http/models.ts';

export const SyncRun = t.Object({
  id: Uuid,
  status: t.UnionEnum(['running', 'succeeded', 'partial', 'failed'] as const),
  trigger: t.String({ description: 'manual or schedule' }),
  startedAt: Timestamp,
  finishedAt: t.Union([Timestamp, t.Null()]),
  itemsChecked: Int({ minimum: 0 }),
  itemsAdjusted: Int({ minimum: 0 }),
  errors: t.Array(t.Object({ sku: t.Union([t.String(), t.Null()]), message: t.String() })),
});

export const SyncRunListQuery = t.Object({ ...PageQuery });
