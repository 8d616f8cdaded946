/** Time and randomness behind an interface, so timing behaviour is tested without sleeping. */
export type Clock = {
  now(): number;
  random(): number;
};

export const systemClock: Clock = { now: () => Date.now(), random: Math.random };
