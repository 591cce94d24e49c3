/**
 * An error boundary around one view: a view that throws while rendering shows what broke and a
 * "Reload this view" button in its own place, while the header and the navigation — outside the
 * boundary — keep working. The error goes to main's log when a reporter is given.
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';
import { useEventsClient } from '../store/events-context.tsx';

export interface ViewBoundaryProps {
  /** The view's name, shown and reported. */
  view: string;
  children: ReactNode;
  onError?: (view: string, error: Error) => void;
}

interface State {
  error: Error | null;
  /** Bumped by "Reload this view": the children mount afresh (new state, new subscriptions). */
  generation: number;
}

export class ViewBoundaryCore extends Component<ViewBoundaryProps, State> {
  override state: State = { error: null, generation: 0 };

  static getDerivedStateFromError(error: unknown): Partial<State> {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    const withStack = info.componentStack
      ? Object.assign(new Error(error.message), { stack: `${error.stack ?? ''}\n${info.componentStack}` })
      : error;
    this.props.onError?.(this.props.view, withStack);
  }

  reload = (): void => {
    this.setState((s) => ({ error: null, generation: s.generation + 1 }));
  };

  override render(): ReactNode {
    const { error, generation } = this.state;
    if (!error) return <ViewGeneration key={generation}>{this.props.children}</ViewGeneration>;
    return (
      <section className="view-crashed" role="alert" aria-label={`${this.props.view} failed`}>
        <h2>The {this.props.view} view failed</h2>
        <p>
          Something in this view broke while drawing it. The rest of the app still works: use the navigation
          on the left, or reload just this view.
        </p>
        <pre className="mono">{error.message || String(error)}</pre>
        <button type="button" onClick={this.reload}>
          Reload this view
        </button>
      </section>
    );
  }
}

function ViewGeneration(props: { children: ReactNode }) {
  return <>{props.children}</>;
}

/** The boundary with main's log as the reporter. */
export function ViewBoundary(props: { view: string; children: ReactNode }) {
  const client = useEventsClient();
  return (
    <ViewBoundaryCore view={props.view} onError={client ? (v, e) => client.reportError(v, e) : undefined}>
      {props.children}
    </ViewBoundaryCore>
  );
}
