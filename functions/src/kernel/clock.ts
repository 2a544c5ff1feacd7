/** The one source of "now" for domain logic, so that tests can drive time instead of waiting. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const fixedClock = (at: Date | string): Clock => {
  const date = new Date(at);
  return { now: () => new Date(date) };
};

export const addMs = (date: Date, ms: number) => new Date(date.getTime() + ms);
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
