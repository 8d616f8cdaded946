import { describe, expect, test } from 'bun:test';
import { parseOptions, scenarioNames, type BenchOptions } from '../bench/lib/options.ts';

/** `bun run bench`'s flags as bench/lib/options.ts reads them (no bench is run here). */
const parse = (...argv: string[]) => parseOptions(argv) as BenchOptions;

describe('bench options', () => {
  test('defaults: every scenario, this tree alone', () => {
    expect(parse()).toMatchObject({ durationS: 20, connections: 64, warmupS: 3, scenarios: [...scenarioNames], baseline: null, rounds: 1, profile: false, workers: 1 });
  });

  test('scenarios keep the order of the list whatever order they are asked in; an unknown one is refused', () => {
    expect(parse('--scenarios', 'hot-sku,ceiling').scenarios).toEqual(['ceiling', 'hot-sku']);
    expect(() => parse('--scenarios', 'ceiling,nope')).toThrow('unknown scenario(s): nope');
  });

  test('split runs right after hot-sku, so its row is printed beside it', () => {
    expect(scenarioNames).toContain('split');
    expect(parse('--scenarios', 'split,hot-sku').scenarios).toEqual(['hot-sku', 'split']);
    expect(parse('--scenarios', 'many-skus,split,hot-sku-payments,hot-sku').scenarios).toEqual(['hot-sku', 'split', 'hot-sku-payments', 'many-skus']);
  });

  test('--baseline takes a ref, and --rounds the pairs per scenario', () => {
    expect(parse('--baseline', 'HEAD~3', '--scenarios', 'ceiling,hot-sku', '--duration', '3', '--warmup', '1')).toMatchObject({
      baseline: 'HEAD~3',
      rounds: 1,
      scenarios: ['ceiling', 'hot-sku'],
      durationS: 3,
      warmupS: 1,
    });
    expect(parse('--baseline', 'main', '--rounds', '3')).toMatchObject({ baseline: 'main', rounds: 3 });
  });

  test('--rounds only with --baseline, and only a whole number of at least one', () => {
    expect(() => parse('--rounds', '2')).toThrow('--rounds needs --baseline');
    expect(() => parse('--baseline', 'main', '--rounds', '0')).toThrow('--rounds must be a positive number');
    expect(() => parse('--baseline', 'main', '--rounds', '1.5')).toThrow('--rounds must be a whole number');
  });

  test('--baseline needs a ref and refuses --profile', () => {
    expect(() => parse('--baseline', '')).toThrow('--baseline needs a git ref');
    expect(() => parse('--baseline', 'main', '--profile')).toThrow('--profile and --baseline do not go together');
    expect(() => parse('--baseline')).toThrow();
  });

  test('--workers: the service processes, a whole number from 1 to 64, one process when profiling or comparing', () => {
    expect(parse().workers).toBe(1);
    expect(parse('--workers', '2').workers).toBe(2);
    for (const bad of ['0', '1.5', '65']) expect(() => parse('--workers', bad)).toThrow('--workers must be');
    expect(() => parse('--workers', '2', '--profile')).toThrow('--profile and --workers above 1 do not go together');
    expect(() => parse('--workers', '2', '--baseline', 'main')).toThrow('--baseline and --workers above 1 do not go together');
  });

  test('--help', () => {
    expect(parseOptions(['--help'])).toBe('help');
  });
});
