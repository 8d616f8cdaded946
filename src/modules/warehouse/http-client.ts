import { parsePage, WarehouseError, type StockPage, type WarehouseClient } from './client.ts';

/** A warehouse speaking the protocol in API.md, at `WAREHOUSE_URL`. */
export class HttpWarehouseClient implements WarehouseClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async fetchPage(cursor: string | null, limit: number): Promise<StockPage> {
    const url = new URL('/stock', this.baseUrl);
    url.searchParams.set('limit', String(limit));
    if (cursor) url.searchParams.set('cursor', cursor);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (error as Error).message;
      throw new WarehouseError(`warehouse unreachable: ${reason}`);
    }
    if (!response.ok) throw new WarehouseError(`warehouse answered ${response.status}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new WarehouseError('malformed page: not JSON');
    }
    return parsePage(body);
  }
}
