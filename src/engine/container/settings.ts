/**
 * @module engine/container/settings
 * What can change on an existing container: its name (`docker rename`) and
 * its resource limits and restart policy (`docker update`, applied to a
 * running container's cgroups through the runtime).
 */
import { existsSync } from 'node:fs';
import { EngineError, errorMessage, invalid } from '../errors.js';
import type { ContainerContext } from './context.js';
import { checkContainerSettings } from './create.js';
import { validateName } from './names.js';
import { validatePolicy } from './restart.js';
import type { HostConfig } from './types.js';

export class ContainerSettings {
  constructor(private readonly ctx: ContainerContext) {}

  async rename(idOrName: string, newName: string): Promise<void> {
    const c = this.ctx.store.resolve(idOrName);
    if (!newName) throw invalid('Neither old nor new names may be empty');
    const full = validateName(newName);
    if (full === c.Name) throw invalid('Renaming a container with the same name as its current name');
    await this.ctx.lock(c.Id).run(async () => {
      const old = c.Name;
      this.ctx.store.reserveName(full, c.Id);
      c.Name = full;
      try {
        await this.ctx.store.save(c);
      } catch (err) {
        c.Name = old;
        this.ctx.store.releaseName(full, c.Id);
        throw err;
      }
      this.ctx.store.releaseName(old, c.Id);
      this.ctx.publish(c, 'rename', { oldName: old });
    });
  }

  /**
   * `docker update` (moby ContainerUpdate): the request's limits merged into
   * the container's (a field the request leaves at zero keeps its value, as
   * in moby's UpdateContainer, with its conflict checks), kept for later runs
   * and, while it runs, applied to its cgroups through the runtime — only
   * what the request sets, as dockerd hands containerd.
   */
  async update(idOrName: string, u: Partial<HostConfig>): Promise<{ Warnings: string[] }> {
    const c = this.ctx.store.resolve(idOrName);
    const warnings: string[] = [];
    if (u.RestartPolicy) validatePolicy(u.RestartPolicy);
    if (u.RestartPolicy?.Name && !['', 'no'].includes(u.RestartPolicy.Name) && c.HostConfig.AutoRemove) {
      throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    const req: Partial<HostConfig> = { ...u };
    if (req.BlkioWeight) {
      if (req.BlkioWeight < 10 || req.BlkioWeight > 1000) throw invalid('Range of blkio weight is from 10 to 1000');
      if (!blkioWeightSupported()) {
        warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
        req.BlkioWeight = 0;
      }
    }
    await checkContainerSettings(req as HostConfig, undefined);
    await this.ctx.lock(c.Id).run(async () => {
      const cannot = (msg: string, kind: 'conflict' | 'system' = 'conflict') => new EngineError(kind, `Cannot update container ${c.Id}: ${msg}`);
      if (c.State.Status === 'removing' || c.State.Dead) throw cannot('container is marked for removal and cannot be "update"');
      const cur = c.HostConfig;
      if (req.NanoCpus && cur.CpuPeriod) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set');
      if (req.NanoCpus && cur.CpuQuota) throw cannot('Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set');
      if (req.CpuPeriod && cur.NanoCpus) throw cannot('Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set');
      if (req.CpuQuota && cur.NanoCpus) throw cannot('Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set');
      if (req.Memory && req.Memory > (cur.MemorySwap ?? 0) && !req.MemorySwap) {
        throw cannot('Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time');
      }
      const next: HostConfig = { ...cur };
      const keys = ['Memory', 'MemorySwap', 'MemoryReservation', 'CpuShares', 'NanoCpus', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems', 'BlkioWeight'] as const;
      for (const k of keys) if (req[k]) (next as Record<string, unknown>)[k] = req[k];
      // Unlike the others, a PidsLimit of 0 or -1 is a change (to unlimited).
      if (req.PidsLimit !== undefined && req.PidsLimit !== null) next.PidsLimit = req.PidsLimit;
      await checkContainerSettings(next, undefined);
      if (req.RestartPolicy?.Name) next.RestartPolicy = req.RestartPolicy;
      const before = c.HostConfig;
      c.HostConfig = next;
      await this.ctx.store.save(c);
      // A container waiting for a policy restart gets its limits when it starts.
      if (c.State.Running && c.State.Status !== 'restarting') {
        try {
          await this.ctx.runtime.update(c.Id, {
            memory: req.Memory || undefined,
            memorySwap: req.MemorySwap || undefined,
            memoryReservation: req.MemoryReservation || undefined,
            cpuShares: req.CpuShares || undefined,
            nanoCpus: req.NanoCpus || undefined,
            cpuQuota: req.CpuQuota || undefined,
            cpuPeriod: req.CpuPeriod || undefined,
            cpusetCpus: req.CpusetCpus || undefined,
            cpusetMems: req.CpusetMems || undefined,
            pidsLimit: req.PidsLimit ?? undefined,
            blkioWeight: req.BlkioWeight || undefined,
          });
        } catch (err) {
          // As dockerd: what the runtime refused is not kept either.
          c.HostConfig = before;
          await this.ctx.store.save(c);
          throw cannot(errorMessage(err), 'system');
        }
      }
    });
    this.ctx.publish(c, 'update');
    return { Warnings: warnings };
  }
}

/** Whether the blkio controller offers a weight (CFQ's, or BFQ's) on this host, as dockerd's sysinfo checks. */
function blkioWeightSupported(): boolean {
  return ['/sys/fs/cgroup/blkio/blkio.weight', '/sys/fs/cgroup/blkio/blkio.bfq.weight', '/sys/fs/cgroup/io.weight', '/sys/fs/cgroup/io.bfq.weight'].some((f) => existsSync(f));
}
