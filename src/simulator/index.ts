/**
 * Entry point of the built-in ComfyUI 0.3.64 simulator (see types.ts for the interface).
 *
 *   const sim = await startSimulator({ stepMs: 10 });
 *   // talk to sim.url over HTTP + WebSocket exactly like a real ComfyUI host
 *   await sim.close();
 */
import { SimulatorServer } from './server.ts';
import type { Simulator, SimulatorOptions } from './types.ts';

export type { Simulator, SimulatorOptions, BusyInterval } from './types.ts';

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimulatorServer(opts);
  await sim.start();
  return sim;
}
