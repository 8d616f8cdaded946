import { describe, expect, test } from 'bun:test';
import { loadConfig } from '../src/config.ts';

/** Every variable of issue 13, parsed once at start with an error that says what is wrong. */
const base = { NODE_ENV: 'test', ADMIN_TOKEN: 'a', CLIENT_TOKEN: 'b' };

describe('configuration of credentials, CORS and rate limits', () => {
  test('defaults: no customer tokens, no CORS, no trusted proxy, a quota per role', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({ customerJwtSecret: undefined, customerJwksUrl: undefined, customerJwtClockSkewSeconds: 30, corsOrigins: [], trustedProxies: [], apiKeyRefreshMs: 500 });
    expect(config.rateLimits.customer).toEqual({ name: 'customer', quota: 20, windowSeconds: 1 });
    expect(config.rateLimits.anonymous).toEqual({ name: 'anonymous', quota: 1000, windowSeconds: 1 });
  });

  test('values are parsed: origins, CIDRs, quotas, "off"', () => {
    const config = loadConfig({
      ...base,
      CORS_ORIGINS: 'https://shop.example, http://localhost:5173/',
      TRUSTED_PROXIES: '10.0.0.0/8,::1',
      RATE_LIMIT_STOREFRONT: '6000/60s',
      RATE_LIMIT_ANONYMOUS: 'off',
      CUSTOMER_JWT_SECRET: 'x'.repeat(32),
      CUSTOMER_JWT_CLOCK_SKEW_S: '5',
    });
    expect(config.corsOrigins).toEqual(['https://shop.example', 'http://localhost:5173']);
    expect(config.trustedProxies).toEqual([
      { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { address: '::1', prefix: 128, family: 'ipv6' },
    ]);
    expect(config.rateLimits.storefront).toEqual({ name: 'storefront', quota: 6000, windowSeconds: 60 });
    expect(config.rateLimits.anonymous).toBeUndefined();
    expect(config.customerJwtClockSkewSeconds).toBe(5);
  });

  test('every mistake is reported at once', () => {
    let message = '';
    try {
      loadConfig({
        ...base,
        CORS_ORIGINS: '*,https://shop.example/path',
        TRUSTED_PROXIES: '10.0.0.0/33,proxy.local',
        RATE_LIMIT_CUSTOMER: '20 per second',
        CUSTOMER_JWT_SECRET: 'too-short',
        CUSTOMER_JWKS_URL: 'not a url',
        API_KEY_REFRESH_MS: '5000',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const expected of [
      'CORS_ORIGINS: "*" is not an origin',
      'CORS_ORIGINS: "https://shop.example/path" is not an origin',
      'TRUSTED_PROXIES: "10.0.0.0/33" has an invalid prefix length',
      'TRUSTED_PROXIES: "proxy.local" is not an IP address or CIDR',
      'RATE_LIMIT_CUSTOMER must be "<requests>/<seconds>s"',
      'CUSTOMER_JWT_SECRET must be at least 32 bytes',
      'CUSTOMER_JWKS_URL must be a URL',
      'API_KEY_REFRESH_MS must be an integer between 50 and 1000',
    ]) {
      expect(message).toContain(expected);
    }
  });

  test('production wants the JWKS over https', () => {
    expect(() => loadConfig({ ...base, NODE_ENV: 'production', CUSTOMER_JWKS_URL: 'http://auth.example/jwks' })).toThrow('CUSTOMER_JWKS_URL must be https');
  });
});
