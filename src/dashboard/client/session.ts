const KEY = 'stockroom.token';

/** The bearer token lives in sessionStorage: it goes when the tab closes and is never sent to other tabs. */
export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  signIn: (token: string) => sessionStorage.setItem(KEY, token),
  signOut: () => sessionStorage.removeItem(KEY),
};
