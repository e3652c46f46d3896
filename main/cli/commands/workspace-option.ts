// `--workspace ID` for commands that act on one workspace: checked to exist before anything is done.
import { requireString, type CliContext, type ParsedArgs } from '../command';
import type { Appliance } from '../../core/appliance';

/** Throws ControlError not_found (a clear message naming the id) when there is no such workspace. */
export async function existingWorkspace(args: ParsedArgs, ctx: CliContext): Promise<{ workspaceId: string; appliance: Appliance }> {
  const workspaceId = requireString(args, 'workspace');
  const appliance = await ctx.appliance();
  appliance.control.describeWorkspace(workspaceId);
  return { workspaceId, appliance };
}
