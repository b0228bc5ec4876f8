/**
 * @module engine/container/settings
 * What can change on an existing container: its name (`docker rename`) and
 * its resource limits and restart policy (`docker update`, applied to a
 * running container's cgroups through the runtime).
 */
import { invalid } from '../errors.js';
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
   * `docker update`: new resource limits (and restart policy), applied to a
   * running container's cgroups through `runc update` and kept for later runs.
   */
  async update(idOrName: string, u: Partial<HostConfig>): Promise<{ Warnings: string[] }> {
    const c = this.ctx.store.resolve(idOrName);
    if (u.RestartPolicy) validatePolicy(u.RestartPolicy);
    if (u.RestartPolicy?.Name && !['', 'no'].includes(u.RestartPolicy.Name) && c.HostConfig.AutoRemove) {
      throw invalid('Restart policy cannot be updated because AutoRemove is enabled for the container');
    }
    const keys = ['Memory', 'MemorySwap', 'MemoryReservation', 'CpuShares', 'NanoCpus', 'CpuQuota', 'CpuPeriod', 'CpusetCpus', 'CpusetMems', 'PidsLimit', 'BlkioWeight'] as const;
    await this.ctx.lock(c.Id).run(async () => {
      if (u.NanoCpus && (u.CpuQuota || u.CpuPeriod)) throw invalid('Conflicting options: Nano CPUs and CPU Period cannot both be set');
      const next: HostConfig = { ...c.HostConfig };
      for (const k of keys) if (u[k] !== undefined && u[k] !== null && u[k] !== 0 && u[k] !== '') (next as Record<string, unknown>)[k] = u[k];
      await checkContainerSettings(next, undefined);
      if (u.RestartPolicy?.Name) next.RestartPolicy = u.RestartPolicy;
      if (c.State.Running) {
        await this.ctx.runtime.update(c.Id, {
          memory: u.Memory, memorySwap: u.MemorySwap, memoryReservation: u.MemoryReservation, cpuShares: u.CpuShares,
          nanoCpus: u.NanoCpus, cpuQuota: u.CpuQuota, cpuPeriod: u.CpuPeriod, cpusetCpus: u.CpusetCpus,
          cpusetMems: u.CpusetMems, pidsLimit: u.PidsLimit ?? undefined,
        });
      }
      c.HostConfig = next;
      await this.ctx.store.save(c);
    });
    this.ctx.publish(c, 'update');
    return { Warnings: [] };
  }
}
