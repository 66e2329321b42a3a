// Product code, not test support: the `test` barclamp ships, its roles run by the `test` jig
// (settable delay and failure) for demos, benchmarks and exercising an installation without real
// machines. The requirement shapes cover Crowbar's cases: implicit (same node), deployment-wide, cluster.
import type { BarclampDefinitionInput, BarclampModule } from '../barclamp-module'

const definition: BarclampDefinitionInput = {
  name: 'test',
  description: 'Roles for exercising the annealer without touching real machines',
  version: '1.0',
  roles: [
    { name: 'test-discovery', jig: 'test', description: 'Stands in for inventory on discovery', flags: { discovery: true } },
    { name: 'test-library', jig: 'test', description: 'Same-node library every test role leans on', flags: { implicit: true } },
    { name: 'test-server', jig: 'test', requires: ['test-library'], description: 'A service one node runs' },
    {
      name: 'test-client',
      jig: 'test',
      requires: ['test-library', 'test-server'],
      description: 'Uses the deployment’s test-server, wherever it runs'
    },
    { name: 'test-cluster', jig: 'test', requires: ['test-library'], flags: { cluster: true }, description: 'A clustered service' },
    { name: 'test-cluster-client', jig: 'test', requires: ['test-cluster'], description: 'Depends on every cluster member' }
  ]
}

export const testBarclamp: BarclampModule = { name: 'test', definition }
