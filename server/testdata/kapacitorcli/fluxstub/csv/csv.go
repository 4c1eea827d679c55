// Package csv is a stub (see package flux).
package csv

import "io"

type ResultEncoderConfig struct{}

func DefaultEncoderConfig() ResultEncoderConfig { return ResultEncoderConfig{} }

type ResultEncoder struct{}

func NewResultEncoder(ResultEncoderConfig) *ResultEncoder { return &ResultEncoder{} }

func (e *ResultEncoder) EncodeError(w io.Writer, err error) error {
	_, werr := io.WriteString(w, err.Error())
	return werr
}
