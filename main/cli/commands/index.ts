// Every CLI command, in help order. Add a command by adding its module here.
import type { Command } from '../command';
import { workspaceCommands } from './workspace';
import { tokenCommands } from './token';
import { keyCommands } from './key';
import { serve } from './serve';
import { consoleCommands } from './console';
import { caExport } from './ca';
import { certIssue } from './cert';
import { auditCommands } from './audit';
import { promqltestCommand } from './promqltest';
import { backup } from './backup';
import { restore } from './restore';
import { seriesDelete } from './series-delete';
import { retentionCommands } from './retention';
import { limitsCommands } from './limits';
import { keyRotateData } from './rotate-data';
import { scanCommands } from './scan';
import { status } from './status';
import { ruleGroupsCommands } from './rule-groups';
import { alertManagerCommands } from './alert-manager';
import { exportCommand } from './export';
import { forwardCommands } from './forward';

export const commands: Command[] = [
  ...workspaceCommands,
  ...tokenCommands,
  ...keyCommands,
  serve,
  status,
  ...consoleCommands,
  caExport,
  certIssue,
  ...auditCommands,
  promqltestCommand,
  backup,
  restore,
  exportCommand,
  seriesDelete,
  ...retentionCommands,
  ...limitsCommands,
  keyRotateData,
  ...scanCommands,
  ...ruleGroupsCommands,
  ...alertManagerCommands,
  ...forwardCommands,
];
