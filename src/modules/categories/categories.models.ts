import { t } from 'elysia';
import { PageQuery, Timestamp, Uuid } from '../../http/models.ts';

export const Category = t.Object({ id: Uuid, name: t.String(), createdAt: Timestamp });
export type Category = typeof Category.static;
export const CategoryBody = t.Object({ name: t.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Unique regardless of case' }) });
export const CategoryListQuery = t.Object({ ...PageQuery });
