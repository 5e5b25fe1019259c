const TOKEN_KEY = 'shop.analytics.adminToken';

/**
 * The admin token arrives in the URL fragment (`#token=...`), which browsers
 * never send to a server or write to its logs. It moves to sessionStorage
 * (this tab only, gone when it closes) and leaves the address bar at once,
 * so it does not end up in bookmarks, history or screenshots.
 */
export function takeTokenFromUrl(): boolean {
  const token = new URLSearchParams(location.hash.replace(/^#/, '')).get('token');
  if (!token) return false;
  saveToken(token);
  history.replaceState(null, '', location.pathname + location.search);
  return true;
}

export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token.trim().replace(/^Bearer\s+/i, ''));
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}
