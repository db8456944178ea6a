package xraydoc

import (
	"strings"
	"testing"
)

const validDoc = `{"id":"0102030405060708","trace_id":"1-5759e988-bd862e3fe1be46a994272793","name":"orders-api","start_time":1700000000.1,"end_time":1700000000.2,"annotations":{"tenant":"a"}}`

func TestAValidDocumentIsSentAsItCame(t *testing.T) {
	doc, err := Repair(validDoc)
	if err != nil {
		t.Fatal(err)
	}
	if doc.JSON != validDoc || len(doc.Repairs) != 0 || doc.ID != "0102030405060708" {
		t.Fatalf("Repair(valid) = %+v, want the same text, no repair, its id", doc)
	}
	if doc, _ := Repair(validDoc + " \n"); doc.JSON != validDoc+" \n" {
		t.Errorf("trailing white space: %q", doc.JSON)
	}
}

func TestADocumentNeedingARepairOrFollowedByMoreIsEncodedAgain(t *testing.T) {
	doc, err := Repair(strings.Replace(validDoc, `"name":"orders-api"`, `"name":"orders<api>"`, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.JSON, `"name":"ordersapi"`) || len(doc.Repairs) != 1 || doc.Repairs[0] != "name" {
		t.Errorf("repaired name: %+v", doc)
	}
	doc, err = Repair(validDoc + `{"id":"x"}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(doc.JSON, `"id"`) != 1 || strings.HasSuffix(doc.JSON, `{"id":"x"}`) {
		t.Errorf("a second value after the document was sent: %s", doc.JSON)
	}
}
