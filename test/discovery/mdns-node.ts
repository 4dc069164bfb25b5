// One side of the mDNS integration test, run inside a network namespace:
//   ip netns exec NS node --import tsx test/discovery/mdns-node.ts IFACE [TYPE,TYPE...]
// It runs the panel's MdnsDiscovery on IFACE with its own Catalogue and obeys JSON commands on
// stdin, one per line ({"id":1,"cmd":"sync","records":[...]}, "announce", "withdraw", "catalogue",
// "close"); every answer is one JSON line on stdout ({"id":1,...}). Logs go to stderr.
import readline from 'node:readline';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { MdnsDiscovery } from '../../src/discovery/mdns.js';
import type { ServiceRecord } from '../../src/discovery/record.js';

const [iface, types = ''] = process.argv.slice(2);
if (!iface) {
  process.stderr.write('usage: mdns-node.ts IFACE [TYPES]\n');
  process.exit(2);
}
const log = (level: string) => (obj: unknown, msg?: string) => process.stderr.write(`${level} ${msg ?? ''} ${JSON.stringify(obj, (_k, v) => (v instanceof Error ? v.message : v))}\n`);
const catalogue = new Catalogue();
const mdns = new MdnsDiscovery({
  interface: iface,
  catalogue,
  knownTypes: () => types.split(',').filter(Boolean),
  refreshMs: Number(process.env.MDNS_REFRESH_MS ?? 1000),
  settleMs: Number(process.env.MDNS_SETTLE_MS ?? 500),
  log: { info: log('info'), warn: log('warn'), debug: () => undefined } as never,
});
const print = (message: object) => process.stdout.write(JSON.stringify(message) + '\n');

mdns.start();
print({ event: 'started', running: mdns.running });

interface Command { id: number; cmd: string; records?: ServiceRecord[]; type?: string; port?: number }
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  void (async () => {
    let message: Command;
    try {
      message = JSON.parse(line) as Command;
    } catch {
      return;
    }
    const { id } = message;
    try {
      switch (message.cmd) {
        case 'sync': await mdns.sync(message.records ?? []); print({ id }); break;
        case 'announce': await mdns.announce(message.records ?? []); print({ id }); break;
        case 'withdraw': await mdns.withdraw(message.type ?? '', message.port); print({ id }); break;
        case 'catalogue': print({ id, entries: catalogue.all(), lastRefresh: mdns.lastRefresh, ignored: mdns.ignored, running: mdns.running }); break;
        case 'close': await mdns.close(); print({ id }); process.exit(0); break;
        default: print({ id, error: `unknown command ${message.cmd}` });
      }
    } catch (error) {
      print({ id, error: (error as Error).message });
    }
  })();
});
