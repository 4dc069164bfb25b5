// The serf plugin: the gossip agent that carries service discovery between nodes.
import { definePlugin } from '../../src/registry/define-plugin.js';
import { manifest } from './manifest.js';
import { SerfModel } from './model.js';
import { serfController } from './controller.js';
import { serfSearchActions } from './search-actions.js';

export default definePlugin({
  manifest,
  createModel: (context) => new SerfModel(context),
  controller: serfController,
  searchActions: { serf: serfSearchActions },
});
