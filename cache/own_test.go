package cache

import (
	"errors"
	"io"
	"testing"

	"mailfs/remote"
)

// On a server without UIDPLUS the Account does not learn the UID of what
// it moved or appended, and a sync lists it: that sync must not report it
// as new mail (the mount would run new_mail_command for the user's own
// cp), while mail delivered by others at the same time still is reported.
func TestOwnChangesWithoutUIDPlus(t *testing.T) {
	e := newEditEnv(t, nil)
	e.store.knobs(func(k *fakeEdit) { k.noUIDPlus = true })
	e.store.create("Archive")
	u := e.store.add("INBOX", "to be moved")
	e.prepare("INBOX", "Archive")
	changes := subscribe(e.a)
	ctx := t.Context()

	if _, err := e.a.Move(ctx, "INBOX", u, "Archive"); err != nil {
		t.Fatalf("Move: %v", err)
	}
	if _, err := e.append("Archive", appendMsg); err != nil {
		t.Fatalf("Append: %v", err)
	}
	other := e.store.add("Archive", "delivered by someone else")
	e.list("Archive", 0)
	ch := wantOneChange(t, changes, "Archive", "a sync after Move and Append without UIDPLUS")
	wantChange(t, ch, false, []uint32{other}, nil, nil)
	e.list("INBOX", 0)
	wantNoChange(t, changes, "a sync of the source")
}

// mv into Trash counts against MaxDeletes as rm does; a move elsewhere
// does not.
func TestMoveToTrashCountsAsRemoval(t *testing.T) {
	e := newEditEnv(t, &AccountOptions{MaxDeletes: 2})
	e.addTrash("Trash")
	e.store.create("Archive")
	var uids []uint32
	for i := range 4 {
		uids = append(uids, e.store.add("INBOX", "m"+string(rune('a'+i))))
	}
	e.prepare("INBOX", "Trash", "Archive")
	ctx := t.Context()
	for _, u := range uids[:2] {
		if _, err := e.a.Move(ctx, "INBOX", u, "Trash"); err != nil {
			t.Fatalf("Move to Trash: %v", err)
		}
	}
	if _, err := e.a.Move(ctx, "INBOX", uids[2], "Trash"); !errors.Is(err, remote.ErrTooManyDeletes) {
		t.Errorf("third Move to Trash with MaxDeletes 2: got %v, want ErrTooManyDeletes", err)
	}
	if _, err := e.a.Move(ctx, "INBOX", uids[3], "Archive"); err != nil {
		t.Errorf("Move to Archive after the guard closed: %v", err)
	}
}

// While subscribers hear of a removed message its body can still be
// opened (the filesystem gives it to descriptors that have not read yet);
// once they returned, it is gone.
func TestRemovedBodyOpenDuringPublish(t *testing.T) {
	e := newEditEnv(t, nil)
	u := e.store.add("INBOX", "going")
	e.prepare("INBOX")
	e.read("INBOX", 1000, u)
	e.settle()
	var got []byte
	e.a.Subscribe(func(ch remote.Change) {
		if len(ch.Removed) == 1 {
			f, err := e.a.Open(t.Context(), "INBOX", ch.UIDValidity, ch.Removed[0].UID)
			if err != nil {
				t.Errorf("Open of the removed message during publish: %v", err)
				return
			}
			defer f.Close()
			got, _ = io.ReadAll(f)
		}
	})
	e.store.expunge("INBOX", u)
	e.list("INBOX", 0)
	if len(got) == 0 {
		t.Errorf("the subscriber read nothing of the removed message")
	}
	if e.bodyExists("INBOX", 1000, u) {
		t.Errorf("the body of the removed message is still cached after publish")
	}
}
