// Path routing: mounted handlers (longest prefix first), then the appliance's API routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpHandler, Mountable } from './types';

export class Router implements Mountable {
  private mounts: { prefix: string; handler: HttpHandler }[] = [];

  constructor(private readonly fallback: HttpHandler) {}

  mount(prefix: string, handler: HttpHandler): void {
    const p = '/' + prefix.replace(/^\/+|\/+$/g, '');
    this.mounts = [{ prefix: p, handler }, ...this.mounts.filter((m) => m.prefix !== p)].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  handle(req: IncomingMessage, res: ServerResponse, path: string): void | Promise<void> {
    for (const m of this.mounts) {
      if (path === m.prefix || path.startsWith(m.prefix + '/')) return m.handler(req, res, path.slice(m.prefix.length) || '/');
    }
    return this.fallback(req, res, path);
  }
}
