// Cluster alarms (etcd's Maintenance.Alarm): raised and cleared through Raft so every member agrees,
// kept in the store's metadata beside the data they guard. NOSPACE is raised when the store grows
// past --quota-backend-bytes; while it stands, writes that add data are refused.

import type { AlarmRequest } from './requests.js';

export const AlarmType = { None: 0, NoSpace: 1, Corrupt: 2 } as const;
export const AlarmAction = { Get: 0, Activate: 1, Deactivate: 2 } as const;

export interface AlarmMember {
  readonly memberID: number;
  readonly alarm: number;
}

interface MetaStore {
  getMeta(name: string): Buffer | undefined;
  setMeta(name: string, value: Buffer): void;
}

const META_NAME = 'alarms';
const ALARM_NAMES: Record<number, string> = { 0: 'NONE', 1: 'NOSPACE', 2: 'CORRUPT' };

export class Alarms {
  private active: AlarmMember[] = [];
  private readonly store: MetaStore;

  constructor(store: MetaStore) {
    this.store = store;
    this.reload();
  }

  /** Re-reads the alarms from the store (at start, and after a snapshot replaced its contents). */
  reload(): void {
    const saved = this.store.getMeta(META_NAME);
    this.active = saved === undefined ? [] : (JSON.parse(saved.toString('utf8')) as AlarmMember[]);
  }

  has(alarm: number): boolean {
    return this.active.some((member) => member.alarm === alarm);
  }

  /** The alarms matching `alarm` (NONE: all), as GET answers. */
  list(alarm: number = AlarmType.None): AlarmMember[] {
    return this.active.filter((member) => alarm === AlarmType.None || member.alarm === alarm);
  }

  /** Applies a committed ACTIVATE or DEACTIVATE; returns the alarms it changed, as etcd answers. */
  apply(request: AlarmRequest): AlarmMember[] {
    const target: AlarmMember = { memberID: request.memberID ?? 0, alarm: request.alarm ?? AlarmType.None };
    const matches = (member: AlarmMember): boolean => member.memberID === target.memberID && member.alarm === target.alarm;
    if (request.action === AlarmAction.Activate) {
      if (target.alarm === AlarmType.None) return [];
      if (!this.active.some(matches)) this.active = [...this.active, target];
      this.save();
      return [target];
    }
    if (request.action === AlarmAction.Deactivate) {
      const removed = this.active.filter(matches);
      this.active = this.active.filter((member) => !matches(member));
      this.save();
      return removed;
    }
    return this.list(target.alarm);
  }

  /**
   * How Status reports them, as etcd 3.4 prints an AlarmMember (protobuf's compact text format,
   * which ends each field with a space: "memberID:1 alarm:NOSPACE ").
   */
  describe(): string[] {
    return this.active.map((member) => `memberID:${member.memberID} alarm:${ALARM_NAMES[member.alarm] ?? member.alarm} `);
  }

  private save(): void {
    this.store.setMeta(META_NAME, Buffer.from(JSON.stringify(this.active), 'utf8'));
  }
}
