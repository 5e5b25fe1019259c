/**
 * The machine-readable graph of a saga type's steps, with one instance's
 * position marked: `done` (visited and left), `current` (where it stands),
 * `pending` (not reached). Terminal nodes are `current` when the saga ended
 * there.
 */
import { currentStep, started, type SagaState, type SagaType } from './saga-state';

export type NodeKind = 'forward' | 'pivot' | 'compensation' | 'wait' | 'terminal';
export type NodeMark = 'done' | 'current' | 'pending';

export interface GraphNode {
  id: string;
  kind: NodeKind;
  command?: string;
  mark: NodeMark;
}
export interface GraphEdge {
  from: string;
  to: string;
  on: string;
}
export interface SagaGraph {
  type: SagaType;
  current: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

type Shape = { nodes: Omit<GraphNode, 'mark'>[]; edges: GraphEdge[] };

const PLACE_ORDER: Shape = {
  nodes: [
    { id: 'pricing', kind: 'forward', command: 'catalog.price-order-lines' },
    { id: 'reserving', kind: 'forward', command: 'inventory.reserve-stock' },
    { id: 'authorizing', kind: 'forward', command: 'order.authorize-payment' },
    { id: 'confirming', kind: 'pivot', command: 'order.confirm-order' },
    { id: 'committing', kind: 'forward', command: 'inventory.commit-reservation' },
    { id: 'voiding', kind: 'compensation', command: 'order.void-payment' },
    { id: 'releasing', kind: 'compensation', command: 'inventory.release-stock' },
    { id: 'rejecting', kind: 'compensation', command: 'order.reject-order' },
    { id: 'cancelling', kind: 'compensation', command: 'order.cancel-order' },
    { id: 'completed', kind: 'terminal' },
    { id: 'rejected', kind: 'terminal' },
    { id: 'cancelled', kind: 'terminal' },
    { id: 'failed', kind: 'terminal' },
  ],
  edges: [
    { from: 'pricing', to: 'reserving', on: 'catalog.order-lines-priced' },
    { from: 'pricing', to: 'rejecting', on: 'catalog.order-lines-pricing-rejected | deadline' },
    { from: 'pricing', to: 'cancelling', on: 'order.cancellation-requested' },
    { from: 'reserving', to: 'authorizing', on: 'inventory.stock-reserved' },
    { from: 'reserving', to: 'rejecting', on: 'inventory.stock-reservation-failed' },
    { from: 'reserving', to: 'releasing', on: 'deadline | order.cancellation-requested | abort' },
    { from: 'authorizing', to: 'confirming', on: 'order.payment-authorized' },
    { from: 'authorizing', to: 'releasing', on: 'order.payment-declined' },
    { from: 'authorizing', to: 'voiding', on: 'deadline | order.cancellation-requested | abort' },
    { from: 'confirming', to: 'committing', on: 'order.confirmed' },
    { from: 'committing', to: 'completed', on: 'inventory.reservation-committed' },
    { from: 'voiding', to: 'releasing', on: 'order.payment-voided' },
    { from: 'releasing', to: 'rejecting', on: 'inventory.stock-released (rejecting)' },
    { from: 'releasing', to: 'cancelling', on: 'inventory.stock-released (cancelling)' },
    { from: 'rejecting', to: 'rejected', on: 'order.rejected' },
    { from: 'cancelling', to: 'cancelled', on: 'order.cancelled' },
    { from: '*', to: 'failed', on: 'retried step without an answer after its last send' },
  ],
};

const CANCEL_ORDER: Shape = {
  nodes: [
    { id: 'waiting-for-place-order', kind: 'wait' },
    { id: 'voiding', kind: 'forward', command: 'order.void-payment' },
    { id: 'releasing', kind: 'forward', command: 'inventory.release-stock' },
    { id: 'cancelling', kind: 'forward', command: 'order.cancel-order' },
    { id: 'cancelled', kind: 'terminal' },
    { id: 'completed', kind: 'terminal' },
    { id: 'failed', kind: 'terminal' },
  ],
  edges: [
    { from: 'start', to: 'voiding', on: 'order.cancellation-requested (place-order completed or absent)' },
    { from: 'start', to: 'waiting-for-place-order', on: 'order.cancellation-requested (place-order past its pivot)' },
    { from: 'start', to: 'completed', on: 'order.cancellation-requested (place-order compensating or ended)' },
    { from: 'waiting-for-place-order', to: 'voiding', on: 'place-order saga completed' },
    { from: 'voiding', to: 'releasing', on: 'order.payment-voided' },
    { from: 'releasing', to: 'cancelling', on: 'inventory.stock-released' },
    { from: 'cancelling', to: 'cancelled', on: 'order.cancelled' },
    { from: '*', to: 'failed', on: 'retried step without an answer after its last send' },
  ],
};

export function sagaGraph(type: SagaType, state: SagaState): SagaGraph {
  const shape = type === 'place-order' ? PLACE_ORDER : CANCEL_ORDER;
  const ended = state.status === 'completed' || state.status === 'rejected' || state.status === 'cancelled';
  const step = currentStep(state)?.step;
  const current = ended ? state.status : state.status === 'failed' ? (step ?? 'failed') : (step ?? 'pending');
  const visited: readonly string[] = started(state)?.visited ?? [];
  const nodes = shape.nodes.map((n) => {
    let mark: NodeMark = 'pending';
    if (n.id === current) mark = 'current';
    else if (visited.includes(n.id)) mark = 'done';
    else if (n.id === 'failed' && state.status === 'failed') mark = 'current';
    return { ...n, mark };
  });
  return { type, current, nodes, edges: shape.edges };
}
