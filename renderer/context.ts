// What every page gets: the API, navigation, and a way to register cleanup (timers, charts).
import type { AmpuleApi } from '../shared/api';

export interface Page {
  readonly el: HTMLElement;
  dispose?(): void;
}

export interface AppContext {
  readonly api: AmpuleApi;
  navigate(hash: string): void;
}
