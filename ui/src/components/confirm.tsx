/**
 * Confirmation for destructive controls: a modal <dialog> (focus moves into it, Escape cancels, Cancel
 * has the initial focus so Enter alone never confirms by accident).
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface ConfirmRequest {
  title: string;
  body: string;
  confirmLabel: string;
  run(): Promise<void> | void;
}

let open: ((r: ConfirmRequest) => void) | undefined;

/** Asks before `run`; resolves when the operator answered. */
export function confirmAction(r: ConfirmRequest): void {
  open?.(r);
}

export function ConfirmHost() {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const [req, setReq] = useState<ConfirmRequest | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    open = (r) => setReq(r);
    return () => (open = undefined);
  }, []);
  useEffect(() => {
    const d = ref.current;
    if (d === null) return;
    if (req !== undefined && !d.open) {
      d.showModal();
      cancelRef.current?.focus();
    }
    if (req === undefined && d.open) d.close();
  }, [req]);
  const close = () => setReq(undefined);
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-body" onClose={close} onCancel={close}>
      <h2 id="confirm-title">{req?.title}</h2>
      <p id="confirm-body">{req?.body}</p>
      <div class="row end">
        <button ref={cancelRef} type="button" onClick={close}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={async () => {
            if (req === undefined) return;
            setBusy(true);
            try {
              await req.run();
            } finally {
              setBusy(false);
              close();
            }
          }}
        >
          {req?.confirmLabel ?? 'Confirm'}
        </button>
      </div>
    </dialog>
  );
}
