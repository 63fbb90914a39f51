// run({ workers: 2 }) as a user program: the primary forks, workers serve /pid on PORT.
// The primary prints the distinct worker pids it saw, closes the workers and exits.
import { Spikard } from '../../lib/index.js';

const app = new Spikard();
app.get('/pid', () => ({ pid: process.pid }));
const s = await app.run({ port: Number(process.env.PORT), workers: 2 });
if (s.workers) {
  const pids = new Set();
  for (let i = 0; i < 40; i++) {
    const r = await fetch(`http://127.0.0.1:${s.port}/pid`, { headers: { connection: 'close' } });
    pids.add((await r.json()).pid);
  }
  await s.close();
  console.log(JSON.stringify({ pids: pids.size }));
}
