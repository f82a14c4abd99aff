// pgx v4 through `agentdb proxy` (extended protocol, binary results for known types). Built by
// test/e2e/client-matrix.test.ts with GOPATH=/usr/share/gocode GO111MODULE=off (Debian's packaged pgx), run as
//   pgx_matrix HOST PORT USER PASSWORD DATABASE
// Prints one JSON object per step: {step, ok, rows?, value?, error?: {code, message}}.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
)

type result struct {
	Step  string        `json:"step"`
	Ok    bool          `json:"ok"`
	Rows  []interface{} `json:"rows,omitempty"`
	Value interface{}   `json:"value,omitempty"`
	Error *stepError    `json:"error,omitempty"`
}

type stepError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func step(name string, fn func() (result, error)) bool {
	r, err := fn()
	r.Step = name
	r.Ok = err == nil
	if err != nil {
		code := "go"
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			code = pgErr.Code
		}
		r.Error = &stepError{Code: code, Message: err.Error()}
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	return err == nil
}

// collect reads every row as a column-name map.
func collect(rows pgx.Rows) ([]interface{}, error) {
	defer rows.Close()
	var out []interface{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := map[string]interface{}{}
		for i, f := range rows.FieldDescriptions() {
			row[string(f.Name)] = vals[i]
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

func main() {
	a := os.Args[1:]
	ctx := context.Background()
	dsn := fmt.Sprintf("postgres://%s:%s@%s:%s/%s?sslmode=disable", url.PathEscape(a[2]), url.PathEscape(a[3]), a[0], a[1], a[4])
	var conn *pgx.Conn
	if !step("connect", func() (result, error) {
		var err error
		conn, err = pgx.Connect(ctx, dsn)
		return result{}, err
	}) {
		return
	}
	defer conn.Close(ctx)

	step("query-params", func() (result, error) {
		rows, err := conn.Query(ctx, "SELECT id, name, email, phone, card_number, ssn, region FROM customers WHERE id <= $1 ORDER BY id", 5)
		if err != nil {
			return result{}, err
		}
		out, err := collect(rows)
		return result{Rows: out}, err
	})

	step("batch", func() (result, error) {
		b := &pgx.Batch{}
		for id := 1; id <= 3; id++ {
			b.Queue("SELECT id, name, email, ssn FROM customers WHERE id = $1", id)
		}
		b.Queue("SELECT count(*) FROM customers")
		br := conn.SendBatch(ctx, b)
		defer br.Close()
		var out []interface{}
		for i := 0; i < 3; i++ {
			rows, err := br.Query()
			if err != nil {
				return result{}, err
			}
			got, err := collect(rows)
			if err != nil {
				return result{}, err
			}
			out = append(out, got...)
		}
		var n int64
		if err := br.QueryRow().Scan(&n); err != nil {
			return result{}, err
		}
		return result{Rows: out, Value: n}, nil
	})
}
