const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export const dateTime = (iso: string) => dateTimeFormat.format(new Date(iso));
export const time = (iso: string) => timeFormat.format(new Date(iso));

/**
 * The last 8 hex digits of a UUID tell orders apart on one screen (ids are UUIDv7: the first ones
 * are the creation time, shared by every order of the same moment). The full id is in the title.
 */
export const shortId = (id: string) => id.slice(-8);

/** "in 3 s", "2 min ago": for retry times, which matter relative to now. */
export function relative(iso: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const size = Math.abs(seconds);
  const text = size < 60 ? `${size} s` : size < 3600 ? `${Math.round(size / 60)} min` : `${Math.round(size / 3600)} h`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}
