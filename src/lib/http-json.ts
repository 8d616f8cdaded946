/** Small helpers for the simulators' plain Bun.serve handlers (the service itself uses Elysia). */
export const json = (status: number, body: unknown) => Response.json(body, { status });

/** The body as a JSON object, or undefined when it is not one. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown> | undefined> {
  try {
    const body: unknown = await request.json();
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
