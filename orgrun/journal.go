package orgrun

import (
	"sync"

	"github.com/rootctl/rootctl/auditlog"
	"github.com/rootctl/rootctl/awserr"
	"github.com/rootctl/rootctl/rootsession"
)

// Journal is a run's audit log, written ahead: a change's started entry is
// on disk before its call is sent, and once a write has failed the run
// starts no further change or session.
type Journal struct {
	Log *auditlog.Log

	mu  sync.Mutex
	err error
}

// NewJournal returns a journal writing to log.
func NewJournal(log *auditlog.Log) *Journal { return &Journal{Log: log} }

// Record appends e to the log. A failure is kept (Failed): the run starts
// no further change or session, and ends with an error naming the log.
func (j *Journal) Record(e auditlog.Entry) error {
	err := j.Log.Record(e)
	if err != nil {
		j.mu.Lock()
		if j.err == nil {
			j.err = err
		}
		j.mu.Unlock()
	}
	return err
}

// RecordStarted writes e as started, right before its call is sent: the
// call must not be sent unless this returns nil. Once the log has failed
// it refuses without writing, so that the run starts nothing more.
func (j *Journal) RecordStarted(e auditlog.Entry) error {
	if err := j.Failed(); err != nil {
		return err
	}
	e.Outcome = auditlog.Started
	return j.Record(e)
}

// Failed reports the first failure to write the log, or nil.
func (j *Journal) Failed() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Sessions makes a records every AssumeRoot ahead: no session is asked
// for unless its started entry is on disk, and none is used unless its
// outcome is too.
func (j *Journal) Sessions(a *rootsession.Assumer) {
	a.BeforeAssume = func(account string, task rootsession.Task) error {
		return j.RecordStarted(auditlog.Entry{Account: account, Task: task.Name, Action: "AssumeRoot", Target: task.ARN()})
	}
	a.OnAssume = func(account string, task rootsession.Task, s *rootsession.Session, err error) error {
		e := auditlog.Entry{Account: account, Task: task.Name, Action: "AssumeRoot", Target: task.ARN(), Outcome: auditlog.Success}
		if err != nil {
			e.Outcome, e.Error, e.RequestID = auditlog.Failed, err.Error(), awserr.RequestID(err)
		} else {
			e.RequestID, e.SessionKeyID = s.RequestID, s.AccessKeyID
		}
		return j.Record(e)
	}
}
