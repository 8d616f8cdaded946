/** Text PostgreSQL cannot store (NUL) or would store as something else (a lone surrogate becomes U+FFFD). */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'NUL (\\u0000)';
  if (!value.isWellFormed()) return 'a lone surrogate (not well-formed Unicode)';
  return undefined;
}
