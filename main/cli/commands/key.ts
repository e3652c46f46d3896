// `ampule key rotate`: re-wraps every workspace's data key under a new master key.
import type { Command } from '../command';
import { JSON_OPTION, printJson, wantsJson } from './output';

export const keyRotate: Command = {
  path: ['key', 'rotate'],
  summary: 'Rotate the master key: a new key wraps every data key (crash-safe; data is not re-encrypted).',
  usage: '[--new-master-key-file FILE] [--json]   (FILE only when the data directory uses --master-key-file)',
  options: { 'new-master-key-file': { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const appliance = await ctx.appliance();
    const newKeyFile = args.values['new-master-key-file'];
    appliance.rotateMasterKey({ ...(typeof newKeyFile === 'string' ? { newKeyFile: ctx.path(newKeyFile) } : {}), actor: 'cli' });
    if (wantsJson(args)) printJson(ctx, { rotated: true, masterKey: { kind: appliance.masterKey.kind, location: appliance.masterKey.location } });
    else {
      ctx.out(`Master key rotated; every data key is now wrapped by the new key in ${appliance.masterKey.location}.`);
      if (typeof newKeyFile === 'string') ctx.out(`From now on start Ampule with --master-key-file ${ctx.path(newKeyFile)}.`);
    }
    return 0;
  },
};

export const keyCommands: Command[] = [keyRotate];
