/** Post and user ids are opaque strings: never parsed as numbers, so snowflake ids stay exact. */
export const ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';
const ID_REGEX = new RegExp(ID_PATTERN);

export function isValidId(value: string): boolean {
  return ID_REGEX.test(value);
}
