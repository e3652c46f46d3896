// Every CLI command, in help order. Add a command by adding its module here.
import type { Command } from '../command';

export const commands: Command[] = [];
