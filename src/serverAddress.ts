/**
 * The host name and port a URL's requests go to, as the `server.address` and `server.port`
 * attributes name them (the scheme's default port when the URL names none); undefined for a string
 * that is not a URL.
 */
export function serverOf(url: string): { address: string; port: number } | undefined {
  try {
    const parsed = new URL(url);
    return { address: parsed.hostname, port: parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80 };
  } catch {
    return undefined;
  }
}
